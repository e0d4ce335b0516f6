"""An import-linter contract type the built-in ones lack: an allow-list ("imports only …").

A `forbidden` contract names what may not be imported, so a module added later is allowed
until someone remembers to forbid it. The workflows and the policy core are defined by what
they MAY import, so their contracts say that instead (see [tool.importlinter] in
pyproject.toml; `lint-imports` in `make lint`, and tests/test_architecture.py).
"""

from __future__ import annotations

import sys

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output


class AllowListContract(Contract):
    """Every module in `source_modules` (and below) imports only: itself and its descendants,
    `allowed_modules` (project or external, with their descendants), and the standard
    library except `forbidden_stdlib` (top-level names)."""

    source_modules = fields.ListField(subfield=fields.ModuleField())
    allowed_modules = fields.ListField(subfield=fields.ModuleField())
    forbidden_stdlib = fields.ListField(subfield=fields.StringField(), required=False)

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        sources = [module.name for module in self.source_modules]  # type: ignore[attr-defined]
        allowed = [*sources, *(module.name for module in self.allowed_modules)]  # type: ignore[attr-defined]
        refused: set[str] = set(self.forbidden_stdlib or [])  # type: ignore[arg-type]
        broken: list[dict[str, object]] = []
        for source in sources:
            for importer in sorted({source} | graph.find_descendants(source)):
                for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                    if _allowed(imported, allowed, refused):
                        continue
                    details = graph.get_import_details(importer=importer, imported=imported)
                    lines = [detail["line_number"] for detail in details]
                    broken.append({"importer": importer, "imported": imported, "lines": lines})
        return ContractCheck(kept=not broken, metadata={"broken": broken})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for item in check.metadata["broken"]:
            lines = ", ".join(f"l.{line}" for line in item["lines"])
            output.print_error(
                f"{item['importer']} imports {item['imported']} ({lines}): not allowed",
                bold=False,
            )
            output.new_line()


def _allowed(imported: str, allowed: list[str], refused: set[str]) -> bool:
    if any(imported == name or imported.startswith(name + ".") for name in allowed):
        return True
    top = imported.split(".")[0]
    return top in sys.stdlib_module_names and top not in refused

"""Temporal workflows of the product; the worker registers `workflows.registry.ALL_WORKFLOWS`.

This file imports nothing on purpose: the sandbox re-imports a workflow's module, and its
package, for every workflow run it starts, so each module pulls in only what it needs.
"""

"""Thin HTTP routes: parse, authorize via dependencies, call a service, return its answer."""

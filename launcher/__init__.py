"""The composition root: the `soporte` CLI and the `up` supervisor.

They import the API, the worker and the SMTP listener, so they sit above every other
package and nothing imports them.
"""

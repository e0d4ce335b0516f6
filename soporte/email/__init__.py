"""The email channel: one parser for inbound mail (`parse`), Spanish templates for
outbound mail (`templates`), the rules that keep automatic replies from looping (`loops`),
sending (`transport`) and the SMTP listener (`smtp_server`). Import each from its module.
"""

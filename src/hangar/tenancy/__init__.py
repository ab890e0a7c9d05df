"""Tenants, users, user groups, workspaces, members, roles, tokens and the permission matrix."""

"""Reading secrets from the terminal or stdin: never from arguments, never echoed."""

from __future__ import annotations

import typer


def password_from_stdin(option: str = "--password-stdin") -> str:
    """The first line of stdin, without its line ending."""
    line: str = typer.get_text_stream("stdin").readline().rstrip("\r\n")
    if not line:
        raise typer.BadParameter(
            "stdin was empty; pipe the password in, e.g. "
            "`printf '%s\\n' \"$PASSWORD\" | hangar ... --password-stdin`",
            param_hint=option,
        )
    return line


def new_password(*, from_stdin: bool, label: str = "Password") -> str:
    """A new password: from stdin, or asked twice on the terminal without echo."""
    if from_stdin:
        return password_from_stdin()
    value: str = typer.prompt(label, hide_input=True, confirmation_prompt=True)
    return value

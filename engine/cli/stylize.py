"""`tinystyle stylize`: placeholder until its issue lands (replace this whole file)."""


def register(sub) -> None:
    sub.add_parser("stylize", help="(not yet available)").set_defaults(func=lambda args: 1)

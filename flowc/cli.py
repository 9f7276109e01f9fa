"""The flowc command."""

def main() -> None:
    pass

"""The ``kgen`` command (``python -m kgen`` and the installed script)."""


def main() -> None:
    """Load the command line with the garbage collector off, then run it.

    Start-up allocates only what lives as long as the process (modules, classes, the commands'
    definitions), so collection passes during it free nothing; they cost a one-file lint about
    2.5 ms. Collection is back on for the command (lint turns it off again, see kgen.cli).
    """
    import gc

    gc.disable()
    from kgen.cli import main as run

    gc.enable()
    run()


if __name__ == "__main__":
    main()

"""The rules of ``svcforge check``, one module per area of the catalogue.

Every module registers its functions with ``svcforge.check.engine.rule`` (static) or
``run_rule`` (``--run``); the engine imports them all on first use.
"""

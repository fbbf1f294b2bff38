"""bioexit: biometric exit at border crossings."""

__version__ = "0.1.0"

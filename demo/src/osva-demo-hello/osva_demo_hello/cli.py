"""The demo service: prints where it runs from, so the demo shows which venv is active."""
import sys

from osva_demo_hello import __version__


def main():
    print("hello from osva-demo-hello %s, running from %s" % (__version__, sys.prefix))
    return 0


def manage():
    print("osva-hello-manage %s" % __version__)
    return 0


def rootwrap():
    # The demo's stand-in for oslo.rootwrap, so the venv has the rootwrap program its release names for sudoers.
    print("demo-rootwrap %s: would run %s" % (__version__, " ".join(sys.argv[2:])))
    return 0

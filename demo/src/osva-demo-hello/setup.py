from setuptools import setup

setup(
    name='osva-demo-hello',
    version='1.0.0',
    packages=['osva_demo_hello'],
    entry_points={'console_scripts': [
        'osva-hello = osva_demo_hello.cli:main',
        'osva-hello-manage = osva_demo_hello.cli:manage',
        'demo-rootwrap = osva_demo_hello.cli:rootwrap',
    ]},
)

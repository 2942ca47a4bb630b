namespace OsVenvArtifacts.TestSupport;

/// <summary>
/// Small Python source projects written by the tests themselves, so no wheel comes from PyPI:
/// a pure package with console scripts, and one with a C extension to exercise the platform check.
/// Build them into a wheelhouse with <c>osva-build wheels</c>.
/// </summary>
public static class PythonProjects
{
    /// <summary>A pure-Python distribution with console scripts that print a known line.</summary>
    /// <returns>The project directory.</returns>
    public static string WriteHello(string parent, string name = "osva-demo-hello", string version = "1.0.0",
        string script = "osva-hello", string greeting = "hello from osva", IEnumerable<string>? requires = null, string? rootwrapScript = null)
    {
        var module = name.Replace('-', '_');
        var dir = Path.Combine(parent, $"{name}-{version}");
        Directory.CreateDirectory(Path.Combine(dir, module));
        File.WriteAllText(Path.Combine(dir, module, "__init__.py"), $"__version__ = '{version}'\n");
        File.WriteAllText(Path.Combine(dir, module, "cli.py"), $$"""
            import sys


            def main():
                print("{{greeting}} {{version}} (" + sys.prefix + ")")
                return 0


            def manage():
                print("{{name}}-manage {{version}}")
                return 0
            """);
        var installRequires = string.Join(", ", (requires ?? []).Select(r => $"'{r}'"));
        File.WriteAllText(Path.Combine(dir, "setup.py"), $$"""
            from setuptools import setup

            setup(
                name='{{name}}',
                version='{{version}}',
                packages=['{{module}}'],
                install_requires=[{{installRequires}}],
                entry_points={'console_scripts': [
                    '{{script}} = {{module}}.cli:main',
                    '{{script}}-manage = {{module}}.cli:manage',{{(rootwrapScript is null ? "" : $"\n        '{rootwrapScript} = {module}.cli:manage',")}}
                ]},
            )
            """);
        return dir;
    }

    /// <summary>A distribution with a C extension module <c>&lt;module&gt;._speedups</c> and a console script using it.</summary>
    public static string WriteWithCExtension(string parent, string name = "osva-demo-native", string version = "1.0.0",
        string script = "osva-native")
    {
        var module = name.Replace('-', '_');
        var dir = Path.Combine(parent, $"{name}-{version}");
        Directory.CreateDirectory(Path.Combine(dir, module));
        File.WriteAllText(Path.Combine(dir, module, "__init__.py"), $"__version__ = '{version}'\n");
        File.WriteAllText(Path.Combine(dir, module, "_speedups.c"), """
            #define PY_SSIZE_T_CLEAN
            #include <Python.h>

            static PyObject *add(PyObject *self, PyObject *args) {
                long a, b;
                if (!PyArg_ParseTuple(args, "ll", &a, &b)) return NULL;
                return PyLong_FromLong(a + b);
            }

            static PyMethodDef methods[] = {{"add", add, METH_VARARGS, "Add two integers."}, {NULL, NULL, 0, NULL}};
            static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_speedups", NULL, -1, methods};
            PyMODINIT_FUNC PyInit__speedups(void) { return PyModule_Create(&module); }
            """);
        File.WriteAllText(Path.Combine(dir, module, "cli.py"), $$"""
            from {{module}} import _speedups


            def main():
                print("native 2+3=%d" % _speedups.add(2, 3))
                return 0
            """);
        File.WriteAllText(Path.Combine(dir, "setup.py"), $$"""
            from setuptools import Extension, setup

            setup(
                name='{{name}}',
                version='{{version}}',
                packages=['{{module}}'],
                ext_modules=[Extension('{{module}}._speedups', ['{{module}}/_speedups.c'])],
                entry_points={'console_scripts': ['{{script}} = {{module}}.cli:main']},
            )
            """);
        return dir;
    }
}

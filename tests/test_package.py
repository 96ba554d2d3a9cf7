import trace


def test_trace_is_the_project_package_not_the_standard_library():
    assert hasattr(trace, "create_app")
    assert trace.__file__.endswith("trace/__init__.py")
    assert "site-packages" not in trace.__file__ and "lib/python3" not in trace.__file__

"""The domain. Functions take a session and plain values; none of them knows about Flask's request."""

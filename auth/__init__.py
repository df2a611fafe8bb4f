"""Sign-in and roles: the one place that knows the auth library (streamlit-authenticator)."""

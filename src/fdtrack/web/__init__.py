"""The web service: server-rendered screens, sign-in and sessions, translating HTTP into service calls."""

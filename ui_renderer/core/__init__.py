"""What every page family shares: the request's `language` and UI words (`i18n`), the acting
user (`actor`), log-in and CSRF (`security`), the session cookie and lifetimes
(`sessions`), failed-login and bad-token throttling (`throttle`), security headers (`headers`),
the size cap of form posts (`body_limit`), the live engine of the app
(`live_app`), form `widgets` and `record_titles`, the request id and log line
(`request_log`), and the 503 and 500 answers (`error_pages`).

May import the engine and `metamodel`; no other page family.
"""

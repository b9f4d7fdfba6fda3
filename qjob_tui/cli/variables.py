"""The environment variables that hold the local service's secrets, so that ``ps`` never shows
them: the fixed token of ``serve --token-env`` and the API key of ``serve --iam-apikey-env``
(exchanged through IAM). A module of its own: the command line's parser names them, and must
not import the HTTP client to do so (the dashboard's start imports httpx after its first
paint)."""

from __future__ import annotations

TOKEN_VARIABLE = "QJOB_TUI_SERVICE_TOKEN"
APIKEY_VARIABLE = "QJOB_TUI_IAM_APIKEY"

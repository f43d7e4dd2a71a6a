"""Client assertions (certificate credentials) as the Microsoft identity platform checks them.

An application registered with a certificate signs in with ``client_assertion`` (a JWT, RS256 or PS256,
``x5t`` = the base64url SHA-1 thumbprint of the certificate, or ``x5t#S256``) and ``client_assertion_type``
``urn:ietf:params:oauth:client-assertion-type:jwt-bearer``. The claims: ``aud`` = the token endpoint,
``iss`` = ``sub`` = the client id, ``exp`` in the future. A bad one is ``invalid_client`` AADSTS700027
(signature, key, claims) or AADSTS700024 (outside its time range), as Entra answers.
"""

from __future__ import annotations

import base64
from typing import Any

from .errors import OAuthError

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _invalid(client: str, reason: str) -> OAuthError:
    return OAuthError(401, "invalid_client", 700027, f"Client assertion failed signature validation. [Reason - "
                      f"{reason}, Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see "
                      f"configured keys for app Id '{client}'.]")


def verify_assertion(client: str, certificate_pem: str | None, assertion: str, kind: str,
                     audiences: list[str]) -> None:
    """Raise the identity platform's OAuthError unless ``assertion`` is a valid client assertion of
    ``client`` signed with the key of ``certificate_pem`` (None: no certificate registered)."""
    import jwt
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    if kind != JWT_BEARER:
        raise OAuthError(400, "invalid_request", 50027, "JWT token is invalid or malformed: "
                         f"client_assertion_type '{kind}' is not supported.")
    try:
        header: dict[str, Any] = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError:
        raise OAuthError(400, "invalid_request", 50027, "JWT token is invalid or malformed.") from None
    used = str(header.get("x5t") or header.get("x5t#S256") or "")  # MSAL keeps the "=" padding
    if certificate_pem is None:
        raise _invalid(client, f"The key was not found., Thumbprint of key used by client: '{used}'")
    cert = x509.load_pem_x509_certificate(certificate_pem.encode())
    known = {_b64url(cert.fingerprint(hashes.SHA1())), _b64url(cert.fingerprint(hashes.SHA256()))}  # noqa: S303
    if used.rstrip("=") not in known:
        raise _invalid(client, f"The key was not found., Thumbprint of key used by client: '{used}'")
    try:
        claims = jwt.decode(assertion, cert.public_key(), algorithms=["RS256", "PS256"], audience=audiences,  # type: ignore[arg-type]
                            issuer=client, options={"require": ["exp", "aud", "iss", "sub"]}, leeway=300)
    except jwt.ExpiredSignatureError:
        raise OAuthError(401, "invalid_client", 700024, "Client assertion is not within its valid time "
                         "range.") from None
    except jwt.InvalidSignatureError:
        raise _invalid(client, "The provided signature value did not match the expected signature value.") from None
    except jwt.InvalidAudienceError:
        raise _invalid(client, "The audience claim is not the token endpoint.") from None
    except jwt.InvalidIssuerError:
        raise _invalid(client, "The issuer claim is not the client id.") from None
    except jwt.PyJWTError as exc:
        raise _invalid(client, f"The assertion is not valid: {exc}.") from None
    if claims.get("sub") != client:
        raise _invalid(client, "The subject claim is not the client id.")

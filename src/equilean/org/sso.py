"""OpenID Connect sign-on: match the identity provider's account to an existing person."""

from mozilla_django_oidc.auth import OIDCAuthenticationBackend


class SingleSignOnBackend(OIDCAuthenticationBackend):
    """Signs in people whose email matches an account; roles are still granted in equilean."""

    def filter_users_by_claims(self, claims):
        email = (claims.get("email") or claims.get("preferred_username") or "").strip()
        if not email:
            return self.UserModel.objects.none()
        return self.UserModel.objects.filter(email__iexact=email, is_active=True)

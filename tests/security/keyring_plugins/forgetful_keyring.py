"""A keyring backend that says yes and keeps nothing (as a misconfigured Secret Service can):
loaded by the real ``keyring`` package through PYTHON_KEYRING_BACKEND."""

from keyring.backend import KeyringBackend


class ForgetfulKeyring(KeyringBackend):
    priority = 1

    def get_password(self, service, username):
        return None

    def set_password(self, service, username, password):
        pass

    def delete_password(self, service, username):
        pass

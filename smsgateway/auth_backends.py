"""django-axes' lockout for every sign-in that comes with a request: the admin's login form and the
API's HTTP Basic. A sign-in from code, without a request (a test client's `login()`), has no
address to count failures by and is left to the next backend."""

from axes.backends import AxesStandaloneBackend


class LockoutBackend(AxesStandaloneBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)

"""Argon2id with parameters chosen for Préau's login peak (see docs/performance.md, "Password hashing").

Django's defaults (t=2, m=100 MiB, p=8) cost about 116 ms of CPU per check on this project's reference core, and
the parallelism of 8 buys nothing on a 2-core server that is busy with other logins: two cores then verify about
nine logins a second. OWASP's password storage guidance lists m=19 MiB, t=2, p=1 as an equivalent-strength
Argon2id configuration; it costs about 19 ms here. The parameters come from the environment so an operator can
raise them; hashes made with other parameters still verify and are upgraded at the next successful login.
"""

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher


class PreauArgon2PasswordHasher(Argon2PasswordHasher):
    @property
    def time_cost(self):
        return settings.PREAU_ARGON2_TIME_COST

    @property
    def memory_cost(self):
        return settings.PREAU_ARGON2_MEMORY_KIB

    @property
    def parallelism(self):
        return settings.PREAU_ARGON2_PARALLELISM

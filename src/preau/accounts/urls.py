from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("connexion/", views.login_view, name="login"),
    path("connexion/verification/", views.login_second_factor, name="login_second_factor"),
    path("deconnexion/", views.logout_view, name="logout"),
    path("activation/", views.activation, name="activation"),
    path("activation/mot-de-passe/", views.activation_password, name="activation_password"),
    path("mot-de-passe/oublie/", views.PasswordResetView.as_view(), name="password_reset"),
    path("mot-de-passe/oublie/envoye/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("mot-de-passe/reinitialiser/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("mot-de-passe/reinitialise/", views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("mot-de-passe/changer/", views.password_change, name="password_change"),
    path("charte/", views.charter_accept, name="charter_accept"),
    path("chartes/<int:charter_id>/", views.charter_detail, name="charter_detail"),
    path("double-authentification/activer/", views.totp_setup, name="totp_setup"),
    path("double-authentification/codes-de-secours/", views.recovery_codes, name="recovery_codes"),
    path("double-authentification/codes-de-secours/renouveler/", views.recovery_codes_regenerate,
         name="recovery_codes_regenerate"),
    path("double-authentification/desactiver/", views.totp_disable, name="totp_disable"),
    path("profil/", views.profile, name="profile"),
    path("administration/chartes/", views.charter_admin_list, name="charter_admin_list"),
    path("administration/chartes/<int:establishment_id>/", views.charter_admin_detail, name="charter_admin_detail"),
]

# Pages a person with a pending step (activation, password, second factor, charter) may still open.
STEP_URL_NAMES = (
    "login", "login_second_factor", "logout", "activation", "activation_password", "password_reset",
    "password_reset_done", "password_reset_complete", "password_change", "charter_accept", "charter_detail",
    "totp_setup", "recovery_codes",
)
STEP_URL_PREFIXES = ("mot-de-passe/reinitialiser/", "chartes/")

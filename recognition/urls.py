from django.urls import path

from recognition import views

urlpatterns = [
    path("accounts/login/face/", views.login_face, name="login-face"),
    path("face/enrol/", views.enrol, name="enrol"),
]
api_urlpatterns: list = []

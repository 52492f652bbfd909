from django.urls import path

from recognition import api, views

urlpatterns = [
    path("accounts/login/face/", views.login_face, name="login-face"),
    path("face/enrol/", views.enrol, name="enrol"),
    path("face/purges/", views.purges, name="purges"),
    path("face/door-code/", views.door_code, name="door-code"),
]
api_urlpatterns = [
    path("devices/me/", api.DeviceMeView.as_view(), name="device-me"),
    path("devices/identify/", api.IdentifyView.as_view(), name="device-identify"),
    path("devices/identify/jobs/", api.IdentifyJobsView.as_view(), name="device-identify-jobs"),
    path(
        "devices/identify/jobs/<str:job>/",
        api.IdentifyJobView.as_view(),
        name="device-identify-job",
    ),
    path("devices/verify/", api.VerifyView.as_view(), name="device-verify"),
    path("devices/code/", api.CodeView.as_view(), name="device-code"),
]

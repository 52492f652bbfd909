from django.urls import path

from recognition import admin_api, admin_views, api, views

urlpatterns = [
    path("accounts/login/face/", views.login_face, name="login-face"),
    path(
        "accounts/login/face/challenge/",
        views.login_face_challenge,
        name="login-face-challenge",
    ),
    path("face/enrol/", views.enrol, name="enrol"),
    path("face/enrol/challenge/", views.enrol_challenge, name="enrol-challenge"),
    path("face/purges/", views.purges, name="purges"),
    path("face/door-code/", views.door_code, name="door-code"),
    path("manage/dashboard/", admin_views.compliance_dashboard, name="dashboard"),
    path("manage/dashboard/audit-check/", admin_views.audit_check, name="audit-check"),
    path("manage/evidence.zip", admin_views.evidence_export, name="evidence"),
    path("manage/locations/", admin_views.location_list, name="admin-locations"),
    path("manage/locations/new/", admin_views.location_create, name="admin-location-new"),
    path(
        "manage/locations/<int:location_id>/",
        admin_views.location_edit,
        name="admin-location",
    ),
    path("manage/devices/", admin_views.device_list, name="admin-devices"),
    path("manage/devices/new/", admin_views.device_register, name="admin-device-new"),
    path(
        "manage/devices/<int:device_id>/rotate/",
        admin_views.device_rotate,
        name="admin-device-rotate",
    ),
    path(
        "manage/devices/<int:device_id>/revoke/",
        admin_views.device_revoke,
        name="admin-device-revoke",
    ),
]
api_urlpatterns = [
    path("admin/dashboard/", admin_api.DashboardView.as_view(), name="admin-dashboard"),
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

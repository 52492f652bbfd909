from django.urls import path

from recognition.rights import views

urlpatterns = [
    path("rules/", views.public_rules_index, name="public-rules-index"),
    path("rules/<int:building_id>/", views.public_rules, name="public-rules"),
    path(
        "rules/<int:building_id>/download/",
        views.public_rules_download,
        name="public-rules-download",
    ),
    path("my-data/requests/", views.my_requests, name="my-requests"),
    path("my-data/profile/", views.profile, name="profile"),
    path("my-data/delete-account/", views.delete_account, name="delete-account"),
    path("my-data/incidents/", views.my_incidents, name="my-incidents"),
    path("manage/requests/", views.admin_requests, name="admin-requests"),
    path("manage/requests/<int:request_id>/", views.admin_request, name="admin-request"),
    path(
        "manage/buildings/<int:building_id>/people/<int:person_id>/age/",
        views.admin_person_age,
        name="admin-person-age",
    ),
    path("manage/incidents/", views.admin_incidents, name="admin-incidents"),
    path(
        "manage/buildings/<int:building_id>/incidents/new/",
        views.admin_incident_new,
        name="admin-incident-new",
    ),
    path("manage/incidents/<int:incident_id>/", views.admin_incident, name="admin-incident"),
    path(
        "manage/incidents/<int:incident_id>/notify/",
        views.admin_incident_notify,
        name="admin-incident-notify",
    ),
    path(
        "manage/incidents/<int:incident_id>/report/",
        views.admin_incident_report,
        name="admin-incident-report",
    ),
    path(
        "manage/incidents/<int:incident_id>/report.json",
        views.admin_incident_report_json,
        name="admin-incident-report-json",
    ),
    path("manage/filings/", views.admin_filings, name="admin-filings"),
    path(
        "manage/filings/materials.zip",
        views.filing_materials_download,
        name="filing-materials",
    ),
    path("manage/audit-checkpoints.json", views.checkpoints_json, name="audit-checkpoints"),
]

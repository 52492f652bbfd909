from django.urls import path

from consent import admin_views, api, views

urlpatterns = [
    path("consents/", views.my_consents, name="mine"),
    path("consents/purposes/<int:purpose_id>/decide/", views.decide, name="decide"),
    path("consents/messages/read/", views.notifications_read, name="notifications-read"),
    path("consents/notices/<int:notice_id>/", views.notice, name="notice"),
    path("consents/<int:consent_id>/receipt/", views.receipt, name="receipt"),
    path("consents/<int:consent_id>/receipt.json", views.receipt_json, name="receipt-json"),
    path("consents/wards/", views.wards, name="wards"),
    path("consents/wards/<int:ward_id>/", views.ward_consents, name="ward"),
    path(
        "consents/wards/<int:ward_id>/purposes/<int:purpose_id>/decide/",
        views.decide,
        name="ward-decide",
    ),
    path("my-data/", views.my_data, name="my-data"),
    path("my-data.json", views.my_data_json, name="my-data-json"),
    path("manage/purposes/", admin_views.purpose_list, name="admin-purposes"),
    path("manage/purposes/new/", admin_views.purpose_create, name="admin-purpose-new"),
    path("manage/purposes/<int:purpose_id>/", admin_views.purpose_detail, name="admin-purpose"),
    path(
        "manage/purposes/<int:purpose_id>/edit/",
        admin_views.purpose_edit,
        name="admin-purpose-edit",
    ),
    path(
        "manage/purposes/<int:purpose_id>/delete/",
        admin_views.purpose_delete,
        name="admin-purpose-delete",
    ),
    path(
        "manage/purposes/<int:purpose_id>/notices/new/",
        admin_views.notice_publish,
        name="admin-notice-new",
    ),
    path("manage/notices/<int:notice_id>/", admin_views.notice_detail, name="admin-notice"),
    path(
        "manage/purposes/<int:purpose_id>/assessments/new/",
        admin_views.assessment_create,
        name="admin-assessment-new",
    ),
    path(
        "manage/assessments/<int:assessment_id>/",
        admin_views.assessment_detail,
        name="admin-assessment",
    ),
    path(
        "manage/assessments/<int:assessment_id>/approve/",
        admin_views.assessment_approve,
        name="admin-assessment-approve",
    ),
    path(
        "manage/purposes/<int:purpose_id>/<str:action>/",
        admin_views.purpose_action,
        name="admin-purpose-action",
    ),
    path("manage/people/", admin_views.people, name="admin-people"),
    path("manage/people/invite/", admin_views.person_invite, name="admin-person-invite"),
    path(
        "manage/buildings/<int:building_id>/people/<int:person_id>/",
        admin_views.person_detail,
        name="admin-person",
    ),
    path(
        "manage/buildings/<int:building_id>/people/<int:person_id>/left/",
        admin_views.person_left,
        name="admin-person-left",
    ),
    path(
        "manage/buildings/<int:building_id>/people/<int:person_id>/password-link/",
        admin_views.person_password_link,
        name="admin-person-password-link",
    ),
    path(
        "manage/buildings/<int:building_id>/consents/",
        views.admin_consents,
        name="admin-consents",
    ),
]

api_urlpatterns = [
    path("consents/", api.MyConsentsView.as_view(), name="consent-list"),
    path("consents/<int:pk>/", api.ConsentDetailView.as_view(), name="consent-detail"),
    path("consents/<int:pk>/receipt/", api.ReceiptView.as_view(), name="consent-receipt"),
    path("purposes/<int:pk>/grant/", api.GrantView.as_view(), name="consent-grant"),
    path("purposes/<int:pk>/refuse/", api.RefuseView.as_view(), name="consent-refuse"),
    path("purposes/<int:pk>/withdraw/", api.WithdrawView.as_view(), name="consent-withdraw"),
    path(
        "purposes/<int:pk>/withdraw-storage/",
        api.WithdrawStorageView.as_view(),
        name="consent-withdraw-storage",
    ),
    path("my-data/", api.MyDataView.as_view(), name="consent-my-data"),
    path("admin/purposes/", api.AdminPurposeListView.as_view(), name="consent-admin-purposes"),
    path(
        "admin/purposes/<int:pk>/",
        api.AdminPurposeDetailView.as_view(),
        name="consent-admin-purpose",
    ),
    path(
        "admin/purposes/<int:pk>/activate/",
        api.AdminActivateView.as_view(),
        name="consent-admin-activate",
    ),
    path(
        "admin/purposes/<int:pk>/retire/",
        api.AdminRetireView.as_view(),
        name="consent-admin-retire",
    ),
    path(
        "admin/purposes/<int:pk>/notices/",
        api.AdminNoticeListView.as_view(),
        name="consent-admin-notices",
    ),
    path(
        "admin/notices/<int:pk>/", api.AdminNoticeDetailView.as_view(), name="consent-admin-notice"
    ),
    path(
        "admin/purposes/<int:pk>/assessments/",
        api.AdminAssessmentListView.as_view(),
        name="consent-admin-assessments",
    ),
    path(
        "admin/assessments/<int:pk>/",
        api.AdminAssessmentDetailView.as_view(),
        name="consent-admin-assessment",
    ),
    path(
        "admin/assessments/<int:pk>/approve/",
        api.AdminApproveView.as_view(),
        name="consent-admin-approve",
    ),
    path(
        "admin/buildings/<int:pk>/consents/",
        api.AdminConsentListView.as_view(),
        name="consent-admin-consents",
    ),
    path(
        "admin/buildings/<int:pk>/people/<int:person_id>/left/",
        api.AdminPersonLeftView.as_view(),
        name="consent-admin-person-left",
    ),
]

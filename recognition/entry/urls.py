from django.urls import path

from recognition.entry import api, views

urlpatterns = [
    path("manage/cards/", views.card_list, name="admin-cards"),
    path("manage/cards/<int:card_id>/revoke/", views.card_revoke, name="admin-card-revoke"),
    path(
        "manage/buildings/<int:building_id>/backup-codes/",
        views.building_backup_codes,
        name="admin-building-backup-codes",
    ),
    path("reception/", views.reception_page, name="reception"),
    path("kiosk/", views.kiosk_page, name="kiosk"),
    path("kiosk/pair/", views.kiosk_pair, name="kiosk-pair"),
    path("manage/devices/<int:device_id>/pair/", views.device_pair, name="admin-device-pair"),
]
api_urlpatterns = [
    path("devices/card/", api.CardView.as_view(), name="device-card"),
    path("devices/face/challenge/", api.FaceChallengeView.as_view(), name="device-challenge"),
    path("devices/identify/live/", api.IdentifyLiveView.as_view(), name="device-identify-live"),
    path("reception/open/", api.ReceptionOpenView.as_view(), name="reception-open"),
]

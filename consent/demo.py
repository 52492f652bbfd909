"""Demo purposes for the demo building: one staff sign-in purpose, one door purpose, both active."""

from django.dispatch import receiver

from consent import rules, services
from portal import demo
from portal.models import Membership

RIGHTS_EN = (
    "You may see, copy, correct and delete your data, withdraw consent at any time, and ask "
    "for an explanation of these rules. Use the \u201cMy data\u201d and \u201cMy consents\u201d "
    "pages, or write to the contact above; we answer within 15 working days."
)
RIGHTS_ZH = (
    "\u60a8\u53ef\u4ee5\u67e5\u9605\u3001\u590d\u5236\u3001\u66f4\u6b63\u548c\u5220\u9664"
    "\u60a8\u7684\u4e2a\u4eba\u4fe1\u606f\uff0c\u968f\u65f6\u64a4\u56de\u540c\u610f\uff0c"
    "\u5e76\u8981\u6c42\u6211\u4eec\u89e3\u91ca\u672c\u89c4\u5219\u3002\u8bf7\u4f7f\u7528"
    "\u201c\u6211\u7684\u6570\u636e\u201d\u548c\u201c\u6211\u7684\u540c\u610f\u201d\u9875\u9762"
    "\uff0c\u6216\u8054\u7cfb\u4e0a\u8ff0\u8054\u7cfb\u65b9\u5f0f\uff1b\u6211\u4eec\u5c06"
    "\u572815\u4e2a\u5de5\u4f5c\u65e5\u5185\u7b54\u590d\u3002"
)
WITHDRAW_EN = (
    "Press \u201cWithdraw consent\u201d on the \u201cMy consents\u201d page. It takes effect "
    "at once and your face template is deleted before the page reloads. You can also withdraw "
    "only your separate consent to face data leaving the device; the template is then deleted "
    "too. Nothing else changes for you."
)
WITHDRAW_ZH = (
    "在“我的同意”页面点击“撤回同意”即可，立即生效，页面刷新前您的人脸模板已被删除。"
    "您也可以只撤回对人脸信息离开设备的单独同意，人脸模板同样会被删除。"
    "您享有的其他服务不受影响。"
)

DEMO_PURPOSES = [
    {
        "fields": {
            "name": "Face sign-in for staff",
            "name_zh_hans": "\u5458\u5de5\u5237\u8138\u767b\u5f55",
            "specific_purpose": "Staff may sign in to the portal by showing their face instead "
            "of typing a password and one-time code.",
            "necessity_and_impact": "Saves staff time at shared desks; a face template is "
            "sensitive data, so it is optional, encrypted and deleted on withdrawal.",
            "method": rules.VERIFICATION,
            "kind": rules.KIND_SIGN_IN,
            "audience": rules.AUDIENCE_STAFF,
            "storage": rules.STORAGE_ON_PREMISES,
            "retention_days": 365,
            "until_person_leaves": True,
            "alternatives": ["password_code"],
        },
        "data": "One encrypted face template (no photo is kept).",
        "en": {
            "purpose": "Signing in to the portal with your face instead of a password.",
            "method": "1:1 verification: your face is compared only with your own template.",
            "data": "One encrypted face template computed from a photo; the photo is not kept.",
            "retention": "Until you withdraw, leave your job, or at most 365 days.",
            "necessity_and_impact": "It saves time; if leaked a template cannot be changed "
            "like a password, so it is encrypted, kept only on the operator's own servers and "
            "never shown to anyone. Your photo does leave your browser for those servers, "
            "which is why a separate consent to that is asked.",
            "alternatives": "Password and one-time code always work, whatever you decide.",
            "rights": RIGHTS_EN,
            "withdrawal": WITHDRAW_EN,
        },
        "zh-hans": {
            "purpose": "\u4f7f\u7528\u4eba\u8138\u4ee3\u66ff\u5bc6\u7801\u767b\u5f55\u95e8"
            "\u6237\u3002",
            "method": "1:1\u6838\u9a8c\uff1a\u4ec5\u5c06\u60a8\u7684\u4eba\u8138\u4e0e\u60a8"
            "\u672c\u4eba\u7684\u6a21\u677f\u6bd4\u5bf9\u3002",
            "data": "\u4e00\u4e2a\u7531\u7167\u7247\u8ba1\u7b97\u5e76\u52a0\u5bc6\u7684\u4eba"
            "\u8138\u6a21\u677f\uff1b\u4e0d\u4fdd\u5b58\u7167\u7247\u3002",
            "retention": "\u76f4\u81f3\u60a8\u64a4\u56de\u540c\u610f\u6216\u79bb\u804c\uff0c"
            "\u6700\u957f365\u5929\u3002",
            "necessity_and_impact": "节省时间；模板泄露后无法像密码一样更换，因此加密保存，"
            "仅存放在运营方自己的服务器上，不向任何人展示。您的照片会离开浏览器传到这些服务器，"
            "因此需要您对此单独同意。",
            "alternatives": "\u65e0\u8bba\u60a8\u5982\u4f55\u9009\u62e9\uff0c\u5bc6\u7801"
            "\u52a0\u52a8\u6001\u9a8c\u8bc1\u7801\u59cb\u7ec8\u53ef\u7528\u3002",
            "rights": RIGHTS_ZH,
            "withdrawal": WITHDRAW_ZH,
        },
    },
    {
        "fields": {
            "name": "Door access by face",
            "name_zh_hans": "\u5237\u8138\u5f00\u95e8",
            "specific_purpose": "Residents may open the lobby door by looking at the door "
            "terminal.",
            "necessity_and_impact": "Hands-free entry for residents who choose it; the door "
            "compares faces with enrolled residents only, and cards and codes keep working.",
            "method": rules.IDENTIFICATION,
            "kind": rules.KIND_DOOR,
            "audience": rules.AUDIENCE_RESIDENTS,
            "storage": rules.STORAGE_ON_PREMISES,
            "retention_days": None,
            "until_person_leaves": True,
            "alternatives": ["door_code", "staff_assisted"],
        },
        "data": "One encrypted face template per enrolled resident.",
        "en": {
            "purpose": "Opening the lobby door without a card.",
            "method": "1:N identification at the lobby door among enrolled residents.",
            "data": "One encrypted face template; door attempts are logged without images. "
            "The door terminal sends each photo over the building's network to the operator's "
            "own servers, which keep the templates.",
            "retention": "Until you withdraw or move out.",
            "necessity_and_impact": "Convenient entry; a mistaken match is possible, so the "
            "door logs each use and staff can help at any time.",
            "alternatives": "A door code and staff-assisted entry at reception always work.",
            "rights": RIGHTS_EN,
            "withdrawal": WITHDRAW_EN,
        },
        "zh-hans": {
            "purpose": "\u65e0\u9700\u95e8\u5361\u5373\u53ef\u6253\u5f00\u5927\u5802\u95e8\u3002",
            "method": "\u5728\u5927\u5802\u95e8\u53e3\u5bf9\u5df2\u767b\u8bb0\u4f4f\u6237"
            "\u8fdb\u884c1:N\u8bc6\u522b\u3002",
            "data": "一个加密的人脸模板；开门记录不含图像。门禁终端通过楼宇内部网络将每张照片"
            "发送到运营方自己的服务器，模板保存在这些服务器上。",
            "retention": "\u76f4\u81f3\u60a8\u64a4\u56de\u540c\u610f\u6216\u642c\u79bb\u3002",
            "necessity_and_impact": "\u8fdb\u51fa\u65b9\u4fbf\uff1b\u53ef\u80fd\u51fa\u73b0"
            "\u8bef\u8bc6\u522b\uff0c\u56e0\u6b64\u6bcf\u6b21\u4f7f\u7528\u90fd\u6709\u8bb0"
            "\u5f55\uff0c\u5de5\u4f5c\u4eba\u5458\u968f\u65f6\u53ef\u4ee5\u534f\u52a9\u3002",
            "alternatives": "\u95e8\u7981\u5bc6\u7801\u548c\u524d\u53f0\u5de5\u4f5c"
            "\u4eba\u5458\u534f\u52a9\u59cb\u7ec8\u53ef\u7528\u3002",
            "rights": RIGHTS_ZH,
            "withdrawal": WITHDRAW_ZH,
        },
    },
]

DEMO_ASSESSMENT = {
    "lawfulness_and_necessity": "Consent-based (PIPL art. 13, 29); optional convenience with "
    "non-face alternatives always available.",
    "impact_and_mitigations": "Sensitive personal information; minimised to one encrypted "
    "template, deleted on withdrawal, lapse or departure.",
    "security_risks": "Leakage, tampering, loss or misuse of templates; mitigated by "
    "encryption with rotated keys, access control and a hash-chained audit log.",
    "protection_adequacy": "Adequate: admins cannot read templates, workers return only match "
    "results, deletion is verified by tests.",
}


@receiver(demo.demo_building_created)
def add_demo_purposes(sender, building, **kwargs):
    admin = (
        Membership.objects.current()
        .filter(building=building, role="admin")
        .select_related("user")
        .first()
    )
    actor = admin.user if admin else None
    for spec in DEMO_PURPOSES:
        activate_demo_purpose(building, spec, actor=actor)


def activate_demo_purpose(building, spec: dict, *, actor, **fields):
    """One of DEMO_PURPOSES (``fields`` over its own) made active the way an admin does it:
    created, assessed and approved, its notice published in both languages, activated."""
    purpose = services.create_purpose(building, actor=actor, **{**spec["fields"], **fields})
    assessment = services.create_assessment(purpose, actor=actor, **DEMO_ASSESSMENT)
    services.approve_assessment(assessment, actor=actor)
    services.publish_notice(
        purpose,
        actor=actor,
        data_collected=spec["data"],
        texts={"en": spec["en"], "zh-hans": spec["zh-hans"]},
    )
    services.activate_purpose(purpose, actor=actor)
    purpose.refresh_from_db()
    return purpose

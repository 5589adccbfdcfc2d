"""The superuser's tools: clinics, staff and their roles, unlocking, enrolment codes, and a
read-only access log. Every action on an account writes an access-log row; no page shows a
second-factor secret (django-otp's own device pages showed each key, its QR code and the
unused backup codes: they are replaced below by lists without them)."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.shortcuts import render
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AccessEvent, Clinic, User
from accounts.services import access_log
from accounts.services import lockout as lockout_services
from accounts.services import two_factor as two_factor_services


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin):
    list_display = ["name", "service_planning_area", "is_active"]
    list_filter = ["service_planning_area", "is_active"]
    search_fields = ["name"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "first_name", "last_name", "clinic", "is_active", "last_login"]
    list_filter = ["is_active", "groups", "clinic", "is_superuser"]
    list_select_related = ["clinic"]
    search_fields = ["username", "first_name", "last_name", "email"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Clinic and roles", {"fields": ("clinic", "groups")}),
        ("Status", {"fields": ("is_active", "is_staff", "is_superuser", "user_permissions")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "first_name",
                    "last_name",
                    "email",
                    "clinic",
                    "groups",
                    "password1",
                    "password2",
                ),
            },
        ),
    )
    filter_horizontal = ("groups", "user_permissions")
    actions = ["unlock_sign_in", "reset_two_factor", "issue_enrolment_codes", "disable_accounts"]

    @admin.action(description="Unlock sign-in (clear failed attempts)")
    def unlock_sign_in(self, request, queryset):
        users = list(queryset)
        lockout_services.unlock(usernames=[user.username for user in users])
        for user in users:
            _account_event(request, user, "sign-in unlocked")
        messages.success(request, f"Unlocked {len(users)} account(s).")

    @admin.action(description="Reset two-factor (enrol again, with a new enrolment code)")
    def reset_two_factor(self, request, queryset):
        count = two_factor_services.reset_two_factor(
            users=list(queryset), by=request.user, request=request
        )
        messages.success(request, f"Two-factor reset for {count} account(s).")

    @admin.action(description="Issue enrolment codes (shown once, valid 72 hours)")
    def issue_enrolment_codes(self, request, queryset):
        issued = [
            (
                user,
                two_factor_services.issue_enrolment_code(
                    user=user, by=request.user, request=request
                ),
            )
            for user in queryset
        ]
        return render(request, "accounts/enrolment_codes.html", {"issued": issued})

    @admin.action(description="Disable accounts and end their sessions")
    def disable_accounts(self, request, queryset):
        # save() per user, not update(): the post_save receiver ends each one's sessions.
        users = list(queryset)
        for user in users:
            user.is_active = False
            user.save(update_fields=["is_active"])
            _account_event(request, user, "account disabled")
        messages.success(request, f"Disabled {len(users)} account(s).")

    def save_model(self, request, obj, form, change):
        # Unticking "Active" on the person's page is the same action as the list's.
        disabled = change and "is_active" in form.changed_data and not obj.is_active
        super().save_model(request, obj, form, change)
        if disabled:
            _account_event(request, obj, "account disabled")


def _account_event(request, user, reason):
    access_log.record(
        request,
        AccessEvent.Action.ACCOUNT,
        object_type="user",
        object_id=user.pk,
        clinic_id=user.clinic_id,
        reason=reason,
    )


for model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


class DeviceAdmin(admin.ModelAdmin):
    """Who has which second factor, read-only: never the key, its QR code or the codes."""

    list_display = ["user", "name", "confirmed", "created_at", "last_used_at"]
    list_filter = ["confirmed"]
    list_select_related = ["user"]
    search_fields = ["user__username"]
    fields = ["user", "name", "confirmed", "created_at", "last_used_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


admin.site.register(TOTPDevice, DeviceAdmin)
admin.site.register(StaticDevice, DeviceAdmin)


@admin.register(AccessEvent)
class AccessEventAdmin(admin.ModelAdmin):
    list_display = [
        "occurred_at",
        "username",
        "action",
        "object_type",
        "object_id",
        "clinic",
        "ip_address",
        "outcome",
        "reason",
    ]
    list_filter = ["action", "outcome", "clinic"]
    list_select_related = ["clinic"]
    search_fields = ["username", "object_id"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

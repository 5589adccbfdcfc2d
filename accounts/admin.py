"""The superuser's tools: clinics, staff and their roles, unlocking, and a read-only access log."""

from axes.utils import reset as axes_reset
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AccessEvent, Clinic, User


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
    actions = ["unlock_sign_in", "reset_two_factor", "disable_accounts"]

    @admin.action(description="Unlock sign-in (clear failed attempts)")
    def unlock_sign_in(self, request, queryset):
        for user in queryset:
            axes_reset(username=user.username)
        messages.success(request, f"Unlocked {queryset.count()} account(s).")

    @admin.action(description="Reset two-factor (enrol again at next sign-in)")
    def reset_two_factor(self, request, queryset):
        TOTPDevice.objects.filter(user__in=queryset).delete()
        StaticDevice.objects.filter(user__in=queryset).delete()
        messages.success(request, f"Two-factor reset for {queryset.count()} account(s).")

    @admin.action(description="Disable accounts and end their sessions")
    def disable_accounts(self, request, queryset):
        # save() per user, not update(): the post_save receiver ends each one's sessions.
        for user in queryset:
            user.is_active = False
            user.save(update_fields=["is_active"])
        messages.success(request, f"Disabled {queryset.count()} account(s).")


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

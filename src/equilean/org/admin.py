"""Django admin for the tree, profiles and role grants, each with its change history."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from simple_history.admin import SimpleHistoryAdmin

from equilean.org.models import Node, Profile, RoleGrant


class RoleGrantInline(admin.TabularInline):
    model = RoleGrant
    extra = 0
    autocomplete_fields = ["node"]


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    autocomplete_fields = ["home_node"]


@admin.register(Node)
class NodeAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "level", "tier", "huddle_time", "parent"]
    list_filter = ["level", "tier"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["parent"]
    readonly_fields = ["path"]


@admin.register(RoleGrant)
class RoleGrantAdmin(SimpleHistoryAdmin):
    list_display = ["user", "role", "node", "ends"]
    list_filter = ["role"]
    search_fields = ["user__username", "node__code", "node__name"]
    autocomplete_fields = ["user", "node"]


@admin.register(Profile)
class ProfileAdmin(SimpleHistoryAdmin):
    list_display = ["display_name", "title", "home_node", "user"]
    search_fields = ["display_name", "user__username"]
    autocomplete_fields = ["user", "home_node"]


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class PersonAdmin(SimpleHistoryAdmin, UserAdmin):
    inlines = [ProfileInline, RoleGrantInline]


admin.site.site_header = "equilean administration"
admin.site.site_title = "equilean"

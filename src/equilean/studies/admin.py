"""Django admin for setting up studies: team, sites, participants and codebook.

Transcripts and codings are research data for the study's team only; the admin does not list
them.
"""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from equilean.studies.models import Code, CodebookVersion, Participant, Site, Study, StudyMember


class StudyMemberInline(admin.TabularInline):
    model = StudyMember
    extra = 0
    autocomplete_fields = ["user"]


class SiteInline(admin.TabularInline):
    model = Site
    extra = 0


@admin.register(Study)
class StudyAdmin(SimpleHistoryAdmin):
    list_display = ["title", "node", "unit", "comparison"]
    list_filter = ["unit", "comparison"]
    search_fields = ["title"]
    autocomplete_fields = ["node"]
    readonly_fields = ["comparison_opened_at", "comparison_opened_by"]
    inlines = [StudyMemberInline, SiteInline]


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
    list_display = ["pseudonym", "study", "role", "tier", "site"]
    list_filter = ["study"]
    search_fields = ["pseudonym", "role"]


class CodeInline(admin.StackedInline):
    model = Code
    fk_name = "version"
    extra = 0


@admin.register(CodebookVersion)
class CodebookVersionAdmin(admin.ModelAdmin):
    list_display = ["study", "number", "note", "created_at"]
    list_filter = ["study"]
    inlines = [CodeInline]

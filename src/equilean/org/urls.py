"""URLs of the organisation pages."""

from django.urls import path

from equilean.org import views

app_name = "org"
urlpatterns = [
    path("switch/", views.switch_node, name="switch"),
    path("<str:code>/", views.node_detail, name="node"),
]

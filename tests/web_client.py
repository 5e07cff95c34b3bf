"""Driving the web app in-process: sign in as anyone, read pages with an HTML parser, and post
forms the way a browser would (with the page's CSRF token)."""

from __future__ import annotations

from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from tests.conftest import PASSWORD


def page(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def csrf_of(response) -> str:
    return page(response).select_one('meta[name="csrf-token"]')["content"]


def sign_in(client: TestClient, login: str, password: str = PASSWORD):
    form = client.get("/login")
    token = page(form).select_one('input[name="csrf_token"]')["value"]
    return client.post("/login", data={"login": login, "password": password, "csrf_token": token,
                                       "next": "/"}, follow_redirects=False)


class Browser:
    """One person's session: signs in once, remembers the last page's CSRF token."""

    def __init__(self, web, login: str | None = None, password: str = PASSWORD) -> None:
        self.client = TestClient(web, raise_server_exceptions=False)
        self.token = ""
        if login:
            response = sign_in(self.client, login, password)
            assert response.status_code == 303, response.text

    def get(self, url: str, **kwargs):
        response = self.client.get(url, **kwargs)
        if response.headers.get("content-type", "").startswith("text/html"):
            meta = page(response).select_one('meta[name="csrf-token"]')
            if meta:
                self.token = meta["content"]
        return response

    def post(self, url: str, data: dict | None = None, *, files=None, csrf: bool = True,
             htmx: bool = False, **kwargs):
        if not self.token:
            self.get("/")
        data = dict(data or {})
        if csrf:
            data["csrf_token"] = self.token
        headers = {"HX-Request": "true"} if htmx else {}
        return self.client.post(url, data=data, files=files, headers=headers,
                                follow_redirects=False, **kwargs)


def jpeg_photo(size: tuple[int, int] = (640, 480), taken_at: str | None = None,
               gps: tuple[float, float] | None = None) -> bytes:
    """A real JPEG, with EXIF capture time and GPS position when given."""
    import io

    from PIL import ExifTags, Image

    image = Image.new("RGB", size, (90, 140, 200))
    exif = Image.Exif()
    if taken_at:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = taken_at
    if gps:
        def dms(value: float) -> tuple:
            degrees = int(value)
            minutes = int((value - degrees) * 60)
            return (degrees, minutes, round(((value - degrees) * 60 - minutes) * 60, 4))
        exif.get_ifd(ExifTags.IFD.GPSInfo).update({
            ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: dms(gps[0]),
            ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: dms(gps[1])})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()

"""An issued pass as a checkpoint and another vendor meet it: the PDF's QR code scanned back to
the exact token, the token verified with nothing but the published keys and an independent COSE
implementation (pycose), and the PDF's text in Chinese."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
import zlib
from pathlib import Path

import cbor2
import pytest
from flask import Flask

from permits.models import Role
from permits.passes import token
from tests.api_helpers import Api
from tests.factories import make_pass, make_user

TOOLS = ("pdftoppm", "pdftotext", "pdffonts")


@pytest.fixture
def poppler() -> None:
    if all(shutil.which(tool) for tool in TOOLS):
        return
    if os.environ.get("PERMITS_TEST_REQUIRE_TOOLS") == "1":
        pytest.fail("poppler-utils is not installed")
    pytest.skip("poppler-utils is not installed")


def b64url(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def test_the_printed_qr_code_scans_back_to_the_exact_token(app: Flask, poppler: None) -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    image_module = pytest.importorskip("PIL.Image")
    owner = make_user(Role.ENTERPRISE)
    issued = make_pass(owner)
    pdf = Api(app.test_client(), owner).get(f"/passes/{issued.number}/pdf").data
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "pass.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-r", "150", "-png", str(source), str(Path(folder) / "page")], check=True
        )
        page = next(Path(folder).glob("page*.png"))
        with image_module.open(page) as image:
            found = zxingcpp.read_barcodes(image)
        text = subprocess.run(
            ["pdftotext", str(source), "-"], check=True, capture_output=True, text=True
        ).stdout
        fonts = subprocess.run(
            ["pdffonts", str(source)], check=True, capture_output=True, text=True
        ).stdout
    assert [barcode.text for barcode in found] == [issued.token]
    assert issued.application.enterprise.name in text
    assert issued.plate in text
    assert issued.application.drivers[0].id_number not in text
    assert issued.application.drivers[0].phone not in text
    if Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc").exists():
        cjk = [line for line in fonts.splitlines() if "WenQuanYi" in line]
        assert cjk and " yes " in cjk[0]


def test_an_independent_cose_library_verifies_the_token_with_the_published_keys(app: Flask) -> None:
    pytest.importorskip("pycose")
    from pycose.algorithms import Es256
    from pycose.headers import KID, Algorithm
    from pycose.keys import EC2Key
    from pycose.keys.curves import P256
    from pycose.messages import Sign1Message

    issued = make_pass()
    jwks = app.test_client().get("/api/v1/keys").get_json()["keys"]
    assert issued.token.startswith("PP1:")
    message_bytes = zlib.decompress(token.b45decode(issued.token[4:]))
    message = Sign1Message.decode(message_bytes)
    kid = message.phdr[KID]
    assert message.phdr[Algorithm] is Es256
    jwk = next(k for k in jwks if b64url(k["kid"]) == kid)
    message.key = EC2Key(crv=P256, x=b64url(jwk["x"]), y=b64url(jwk["y"]))
    assert message.verify_signature()
    claims = cbor2.loads(message.payload)
    assert claims[7] == issued.number.encode()
    assert claims[-70001]["pl"] == issued.plate

    tampered = Sign1Message.decode(message_bytes)
    tampered.key = message.key
    tampered.payload = message.payload.replace(b"\xa1", b"\xa2", 1) + b"\x00"
    assert not tampered.verify_signature()


def test_the_pass_page_and_api_say_when_it_is_revoked(app: Flask) -> None:
    owner = make_user(Role.ENTERPRISE)
    issued = make_pass(owner)
    admin = Api(app.test_client(), make_user(Role.ADMIN))
    admin.post(f"/passes/{issued.number}/revoke", {"reason": "企业停业"})
    body = Api(app.test_client(), owner).get(f"/applications/{issued.application_id}").get_json()
    assert body["pass"]["status"] == "revoked"

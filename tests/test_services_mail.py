"""Sending mail: to a real SMTP server on this machine that insists on STARTTLS before a login, as a hosted
mail service does; each refusal comes back as the text the administrator is shown."""
import datetime
import socket
import ssl
import threading
from trace.services import mail

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USER, PASSWORD = "truyxuat", "Mat-khau-2026"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _tls_context(folder) -> ssl.SSLContext:
    """A self-signed certificate for 127.0.0.1 (smtplib's STARTTLS does not check it without a context)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
                   .sign(key, hashes.SHA256()))
    (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


@pytest.fixture
def server(tmp_path):
    """(port, messages received as (sender, recipients, text))."""
    received = []

    class Inbox:
        async def handle_DATA(self, server, session, envelope):
            received.append((envelope.mail_from, envelope.rcpt_tos, envelope.content.decode()))
            return "250 OK"

    def authenticate(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=(auth_data.login, auth_data.password) in ((USER.encode(), PASSWORD.encode()),
                                                                          (b"relay", b"")),
                          handled=False)  # aiosmtpd answers a failure itself
    port = _free_port()
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port, tls_context=_tls_context(tmp_path),
                            require_starttls=True, auth_required=True, auth_require_tls=True, authenticator=authenticate,
                            auth_exclude_mechanism=["LOGIN"])  # PLAIN only: smtplib and aiosmtpd disagree on LOGIN
    controller.start()
    yield port, received
    controller.stop()


def _config(port, **extra) -> dict:
    return {"TRACE_SMTP_HOST": "127.0.0.1", "TRACE_SMTP_PORT": port, "TRACE_MAIL_FROM": "truyxuat@thuynguyen.gov.vn",
            "TRACE_SMTP_STARTTLS": True, "TRACE_SMTP_USER": USER, "TRACE_SMTP_PASSWORD": PASSWORD, **extra}


def test_a_message_goes_out_over_starttls_after_logging_in(server):
    port, received = server
    assert mail.send(_config(port), "lien@kienbai.vn", "Lời mời", "Đặt mật khẩu tại: https://trace.test/welcome/x") is None
    ((sender, recipients, text),) = received
    assert (sender, recipients) == ("truyxuat@thuynguyen.gov.vn", ["lien@kienbai.vn"])
    assert "Subject: =?utf-8?b?" in text  # the Vietnamese subject is encoded for the header
    assert "To: lien@kienbai.vn" in text.splitlines()


def test_without_starttls_the_server_refuses_and_says_why(server):
    port, received = server
    refusal = mail.send(_config(port, TRACE_SMTP_STARTTLS=False), "lien@kienbai.vn", "Lời mời", "x")
    assert refusal == "SMTP AUTH extension not supported by server." and received == []  # offered only over TLS


def test_a_wrong_password_is_the_servers_refusal(server):
    port, received = server
    refusal = mail.send(_config(port, TRACE_SMTP_PASSWORD="sai"), "lien@kienbai.vn", "Lời mời", "x")
    assert refusal == "(535, b'5.7.8 Authentication credentials invalid')" and received == []


def test_a_server_not_there_is_said_so():
    refusal = mail.send(_config(_free_port()), "lien@kienbai.vn", "Lời mời", "x")
    assert refusal == "[Errno 111] Connection refused"


def test_a_password_smtp_cannot_send_is_said_so(server):
    port, received = server
    refusal = mail.send(_config(port, TRACE_SMTP_PASSWORD="mật-khẩu"), "lien@kienbai.vn", "Lời mời", "x")
    assert refusal == "The mail server's user name and password must be plain ASCII." and received == []


def test_a_login_without_a_password_sends_an_empty_one(server):
    port, received = server
    assert mail.send(_config(port, TRACE_SMTP_USER="relay", TRACE_SMTP_PASSWORD=None), "lien@kienbai.vn", "x", "y") is None
    assert len(received) == 1


def test_a_server_that_never_answers_is_given_up_on(tmp_path):
    """A server that takes the connection and says nothing: the page that sends mail does not wait forever."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the connection completes in the backlog; no greeting ever comes
        answer = []
        sending = threading.Thread(target=lambda: answer.append(
            mail.send(_config(silent.getsockname()[1]), "lien@kienbai.vn", "Lời mời", "x")), daemon=True)
        sending.start()
        sending.join(timeout=30)
    assert answer == ["Connection unexpectedly closed: timed out"]

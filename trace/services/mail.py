"""E-mail through the SMTP server the deployment names (TRACE_SMTP_HOST); without one nothing is sent and the
administrator passes links on by hand."""
import smtplib
from email.message import EmailMessage


def send(config: dict, to: str, subject: str, body: str) -> str | None:
    """None when sent; otherwise the server's refusal or why it could not be reached."""
    host = config["TRACE_SMTP_HOST"]
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = config["TRACE_MAIL_FROM"], to, subject
    message.set_content(body)
    try:
        with smtplib.SMTP(host, config["TRACE_SMTP_PORT"], timeout=10) as server:
            server.ehlo()
            if config.get("TRACE_SMTP_STARTTLS") and server.has_extn("starttls"):
                server.starttls()
            if config.get("TRACE_SMTP_USER"):
                server.login(config["TRACE_SMTP_USER"], config["TRACE_SMTP_PASSWORD"] or "")
            server.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        return str(exc) or exc.__class__.__name__
    except UnicodeEncodeError:  # smtplib sends the login as ASCII
        return "The mail server's user name and password must be plain ASCII."
    return None

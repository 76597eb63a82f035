"""Account screens: home, Se connecter, Créer votre compte, activation, Mot de passe oublié, Mon compte."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, request, url_for
from flask_login import current_user

from ..events import Refused
from ..forms import build_form, plugin_data, put_errors
from ..web import form_error, public, redirect_to, render, safe_next
from . import services
from .forms import ChangePasswordForm, ChoosePasswordForm, ForgotPasswordForm, LoginForm, ProfileForm, RegisterForm
from .models import AccountOrigin
from .sessions import client_address

bp = Blueprint("accounts", __name__)


def _attach_error(form, error: services.AccountError, field_map: dict | None = None) -> None:
    put_errors(form, {(field_map or {}).get(error.field, error.field) or "": error.message})


@bp.get("/")
@public
def home():
    if current_user.is_authenticated:
        return redirect_to(url_for("accounts.my_account"))
    return render("accounts/home.html", form=LoginForm(), next_url="")


@bp.route("/connexion", methods=["GET", "POST"])
@public
def login():
    form = LoginForm()
    next_url = safe_next(request.values.get("next"), "")
    if current_user.is_authenticated and request.method == "GET":
        return redirect_to(next_url or url_for("accounts.my_account"))
    if form.validate_on_submit():
        cookie = current_app.config["DEVICE_COOKIE_NAME"]
        result = services.log_in(form.email.data, form.password.data, client_address(), request.cookies.get(cookie))
        if result.user is not None:
            flash(f"Bienvenue, {result.user.first_name}.", "success")
            response = redirect_to(next_url or url_for("accounts.my_account"))
            c = current_app.config
            response.set_cookie(cookie, result.device, max_age=c["DEVICE_COOKIE_LIFETIME"], httponly=True,
                                samesite="Lax", secure=c["SESSION_COOKIE_SECURE"])
            return response
        form.form_errors.append(result.error)
    if request.method == "POST":
        return form_error("accounts/login.html", form=form, next_url=next_url)
    return render("accounts/login.html", form=form, next_url=next_url)


@bp.post("/deconnexion")
def logout():
    services.log_out(current_user)
    flash("Vous êtes déconnecté.", "success")
    return redirect_to(url_for("accounts.home"))


@bp.route("/inscription", methods=["GET", "POST"])
@public
def register():
    form = build_form(RegisterForm, "account_create", {"actor": None})
    if form.validate_on_submit():
        data = services.AccountData(
            last_name=form.last_name.data, first_name=form.first_name.data, login_email=form.login_email.data,
            contact_email=form.contact_email.data or "", phone=form.phone.data or "",
        )
        try:
            services.register(data, origin=AccountOrigin.SELF, address=client_address(), extra=plugin_data(form))
        except services.AccountError as e:
            _attach_error(form, e)
        except Refused as e:  # a plugin's rule
            put_errors(form, e.errors)
        else:
            return render("accounts/register_done.html", email=services.normalize_email(form.login_email.data),
                          for_other=form.for_whom.data == "other")
    if request.method == "POST":
        return form_error("accounts/register.html", form=form)
    return render("accounts/register.html", form=form)


@bp.route("/activation/<token>", methods=["GET", "POST"])
@public
def activate(token):
    from .models import TokenPurpose

    row = services.usable_link(token, TokenPurpose.ACTIVATION)
    if row is None:
        return render("accounts/link_invalid.html", status=404, kind="activation")
    form = ChoosePasswordForm()
    if form.validate_on_submit():
        try:
            services.activate(token, form.password.data)
        except services.AccountError as e:
            _attach_error(form, e)
        else:
            flash("Votre compte est activé. Vous pouvez maintenant vous connecter.", "success")
            return redirect_to(url_for("accounts.login"))
    ctx = {"form": form, "user": row.user, "title": "Activer votre compte",
           "action": url_for("accounts.activate", token=token)}
    if request.method == "POST":
        return form_error("accounts/choose_password.html", **ctx)
    return render("accounts/choose_password.html", **ctx)


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
@public
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        try:
            services.request_password_reset(form.email.data, client_address())
        except services.AccountError as e:
            _attach_error(form, e)
        else:
            return render("accounts/forgot_done.html")
    if request.method == "POST":
        return form_error("accounts/forgot.html", form=form)
    return render("accounts/forgot.html", form=form)


@bp.route("/reinitialisation/<token>", methods=["GET", "POST"])
@public
def reset_password(token):
    from .models import TokenPurpose

    row = services.usable_link(token, TokenPurpose.RESET)
    if row is None:
        return render("accounts/link_invalid.html", status=404, kind="reset")
    form = ChoosePasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data)
        except services.AccountError as e:
            _attach_error(form, e)
        else:
            flash("Votre mot de passe est modifié. Connectez-vous avec le nouveau.", "success")
            return redirect_to(url_for("accounts.login"))
    ctx = {"form": form, "user": row.user, "title": "Choisir un nouveau mot de passe",
           "action": url_for("accounts.reset_password", token=token)}
    if request.method == "POST":
        return form_error("accounts/choose_password.html", **ctx)
    return render("accounts/choose_password.html", **ctx)


@bp.route("/mon-compte", methods=["GET", "POST"])
def my_account():
    user = current_user._get_current_object()
    form = ProfileForm(obj=user)
    if form.validate_on_submit():
        try:
            services.update_profile(user, user, last_name=form.last_name.data, first_name=form.first_name.data,
                                    contact_email=form.contact_email.data, phone=form.phone.data or "")
        except services.AccountError as e:
            _attach_error(form, e)
        else:
            flash("Vos informations sont enregistrées.", "success")
            return redirect_to(url_for("accounts.my_account"))
    if request.method == "POST":
        return form_error("accounts/my_account.html", form=form, user=user)
    return render("accounts/my_account.html", form=form, user=user)


@bp.route("/mon-compte/mot-de-passe", methods=["GET", "POST"])
def change_password():
    user = current_user._get_current_object()
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(user, form.current_password.data, form.password.data)
        except services.AccountError as e:
            _attach_error(form, e, {"new_password": "password"})
        else:
            flash("Votre mot de passe est modifié. Vos autres sessions ont été fermées.", "success")
            return redirect_to(url_for("accounts.my_account"))
    if request.method == "POST":
        return form_error("accounts/change_password.html", form=form)
    return render("accounts/change_password.html", form=form)

"""Router Playground: reads settings once, builds the services and the page, launches."""
import sys

import gradio as gr
from starlette.middleware import Middleware

from router.settings import Settings
from services import Services
from ui.auth import PageTitle, UsersError, listen_host, load_users, sign_in_notice, username
from ui.chat_tab import create_chat_tab
from ui.escaping import safe
from ui.compare_tab import create_compare_tab
from ui.tasks_tab import create_tasks_tab
from ui.throttle import SignInGuard
from ui.train_tab import create_train_tab
from ui.validate_tab import create_validate_tab


TITLE = "Router Playground"
SIGN_IN = "Router Playground: sign in to test how an LLM behaviour router steers an assistant."


def signed_in(request: gr.Request) -> str:
    """Who is signed in, for the page's header."""
    return f"Signed in as **{safe(username(request))}**"


def build_app(services: Services, sign_out: bool = False) -> gr.Blocks:
    """The whole page, one tab per job; data (names above all) arrives on load, after sign-in."""
    with gr.Blocks(title=TITLE) as app:
        with gr.Row():
            gr.Markdown("# Router Playground\nHow an LLM behaviour router steers an assistant.")
            if sign_out:
                who = gr.Markdown(elem_id="signed-in")
                gr.Button("Sign out", link="logout", size="sm", scale=0, elem_id="sign-out")
                app.load(signed_in, None, who)
        kept_chat = gr.BrowserState(None, storage_key="router-playground-chat")  # read on page load, not in a tab
        with gr.Tabs():
            loaders = create_tasks_tab(services)
            loaders += create_chat_tab(services, kept_chat)
            loaders += create_compare_tab(services) + create_validate_tab(services)
            loaders += create_train_tab(services)
        for loader in loaders:
            app.load(loader.fn, loader.inputs or None, loader.outputs, js=loader.js)
    return app


def main() -> None:
    """Start the app on the configured host and port; refuse to start on a malformed users setting."""
    settings = Settings.from_env()
    try:
        users = load_users()
    except UsersError as e:
        sys.exit(f"error: {e}; the app does not start (fix the setting, or unset it to run without sign-in)")
    services = Services.build(settings)
    host = listen_host(settings.host, users)
    print(f"Router Playground: database {settings.db_path}; listening on "
          f"http://{host}:{settings.port}", flush=True)
    print(sign_in_notice(settings.host, users), flush=True)
    build_app(services, sign_out=bool(users)).queue().launch(
        server_name=host, server_port=settings.port, auth=list(users.items()) or None, auth_message=SIGN_IN,
        max_file_size=f"{settings.max_upload_mb}mb", allowed_paths=[str(settings.exports_dir)],
        run_history=False, app_kwargs={"middleware": [Middleware(PageTitle, title=TITLE),
                                            *([Middleware(SignInGuard)] if users else [])]})


if __name__ == "__main__":
    main()

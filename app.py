"""Router Playground: reads settings once, builds the services and the page, launches."""
import gradio as gr

from router.settings import Settings
from ui.auth import load_users
from ui.chat_tab import create_chat_tab
from ui.compare_tab import create_compare_tab
from ui.services import Services
from ui.tasks_tab import create_tasks_tab
from ui.validate_tab import create_validate_tab


def build_app(services: Services) -> gr.Blocks:
    """The whole page, one tab per job."""
    with gr.Blocks(title="Router Playground") as app:
        gr.Markdown("# Router Playground\nHow an LLM behaviour router steers an assistant.")
        with gr.Tabs():
            refresh_tasks, task_listing = create_tasks_tab(services)
            create_chat_tab(services)
            create_compare_tab(services)
            create_validate_tab(services)
        app.load(refresh_tasks, None, task_listing)
    return app


def main() -> None:
    """Start the app on the configured host and port."""
    settings = Settings.from_env()
    services = Services.build(settings)
    users = load_users()
    print(f"Router Playground: database {settings.db_path}; listening on "
          f"http://{settings.host}:{settings.port}", flush=True)
    print(f"sign-in: {len(users)} users" if users else
          "sign-in: none (no ROUTER_USERS or ROUTER_USERS_FILE); annotator 'anonymous'; "
          f"listening on {settings.host} only", flush=True)
    build_app(services).queue().launch(server_name=settings.host, server_port=settings.port,
                                       auth=list(users.items()) or None)


if __name__ == "__main__":
    main()

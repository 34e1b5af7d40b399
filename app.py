"""Router Playground: reads settings once, builds the services and the page, launches."""
import gradio as gr

from router.settings import Settings
from ui.auth import listen_host, load_users, sign_in_notice
from ui.chat_tab import create_chat_tab
from ui.compare_tab import create_compare_tab
from ui.services import Services
from ui.tasks_tab import create_tasks_tab
from ui.train_tab import create_train_tab
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
            newest_job, job_pick = create_train_tab(services)
        app.load(refresh_tasks, None, task_listing)
        app.load(newest_job, None, job_pick)
    return app


def main() -> None:
    """Start the app on the configured host and port."""
    settings = Settings.from_env()
    services = Services.build(settings)
    users = load_users()
    host = listen_host(settings.host, users)
    print(f"Router Playground: database {settings.db_path}; listening on "
          f"http://{host}:{settings.port}", flush=True)
    print(sign_in_notice(settings.host, users), flush=True)
    build_app(services).queue().launch(server_name=host, server_port=settings.port,
                                       auth=list(users.items()) or None,
                                       max_file_size=f"{settings.max_upload_mb}mb",
                                       allowed_paths=[str(settings.exports_dir)])


if __name__ == "__main__":
    main()

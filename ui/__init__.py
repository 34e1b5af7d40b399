"""The Gradio interface: one module per tab."""

"""Fine-tuning the router model: training examples, job configuration, the training job."""

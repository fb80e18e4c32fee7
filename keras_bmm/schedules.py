"""Training schedules shared by datasets and presets (plain dicts of `TrainConfig` fields)."""

#: The paper's CIFAR schedule (Arazo et al., 2019, and its reference code).
PAPER_SCHEDULE = {
    "model": "preact_resnet18",
    "width": 64,
    "epochs": 300,
    "batch_size": 128,
    "learning_rate": 0.1,
    "momentum": 0.9,
    "weight_decay": 1e-4,
    "lr_milestones": (100, 250),
    "mixup_alpha": 32.0,
    "warmup_epochs": 105,
    "dynamic_epochs": 5,
    "temperature_epochs": 89,
    "reg_weight": 1.0,
}

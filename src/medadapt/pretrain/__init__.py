"""Continued (domain-adaptive) masked-language-model pre-training of Hugging Face encoders."""

"""Reference solutions of notebook 05 (built-in hooks)."""

from haystack.hooks.human_in_the_loop import ConfirmationUIResult

# Exercise 05.1: the largest budget that stops the run after one LLM call is what that call used (prompt +
# completion tokens of the first LLM row of the baseline): TokenBudgetHook stops once usage REACHES the budget.
BUDGET = 36 + 11


class RejectSaveNote:
    """Exercise 05.2: a confirmation UI that rejects save_note and confirms every other tool call."""

    def get_user_confirmation(self, tool_name: str, tool_description: str, tool_params: dict) -> ConfirmationUIResult:
        if tool_name == "save_note":
            return ConfirmationUIResult("reject", feedback="Do not save notes in this session.")
        return ConfirmationUIResult("confirm")

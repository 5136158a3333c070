// Enable or Disable one rule in place (PATCH `enabled`); a refusal is said next to the button.

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { errorText } from '../../api/problem';
import { alertRuleKeys, updateAlertRule, type AlertRule } from './api';

export function RuleToggle({ rule }: { rule: AlertRule }) {
  const queryClient = useQueryClient();
  const mutation = useMutation({
    mutationFn: () => updateAlertRule(rule, { enabled: !rule.enabled }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: alertRuleKeys.all }),
  });
  return (
    <>
      <button type="button" disabled={mutation.isPending} onClick={() => mutation.mutate()}>
        {rule.enabled ? 'Disable' : 'Enable'}
        <span className="visually-hidden"> {rule.name}</span>
      </button>
      {mutation.isError && (
        <span className="warn-text" role="alert">
          {' '}
          {errorText(mutation.error)}
        </span>
      )}
    </>
  );
}

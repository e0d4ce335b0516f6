from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker


@workflow.defn
class Hello:
    @workflow.run
    async def run(self, name: str) -> str:
        return f"hola {name}"


async def test_time_skipping_server_runs_a_workflow(time_env: WorkflowEnvironment, task_queue: str):
    async with Worker(time_env.client, task_queue=task_queue, workflows=[Hello]):
        result = await time_env.client.execute_workflow(
            Hello.run, "mundo", id="hello", task_queue=task_queue
        )
    assert result == "hola mundo"


async def test_dev_server_runs_a_workflow(dev_env: WorkflowEnvironment, task_queue: str):
    async with Worker(dev_env.client, task_queue=task_queue, workflows=[Hello]):
        result = await dev_env.client.execute_workflow(
            Hello.run, "dev", id=f"hello-{task_queue}", task_queue=task_queue
        )
    assert result == "hola dev"
